"""What people run: the `datasoil` command, ape-script support, the gateway, the local
node, the demo.
"""

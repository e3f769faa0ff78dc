"""Sub-commands of the ``datasoil`` console command, one module per concern.

Each module exposes click commands; :mod:`datasoil.cli` attaches them.
"""

"""Sub-commands of the ``datasoil`` console command, one module per concern.

Each module exposes click commands; :mod:`datasoil.app.cli` attaches them.
"""

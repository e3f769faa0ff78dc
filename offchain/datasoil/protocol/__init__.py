"""Pure protocol rules shared by the flows: the metric sets attestations are filed under.

Pure like :mod:`datasoil.formats`: no chain, network or store access.
"""

"""Pure protocol rules shared by the flows: the metric sets attestations are filed under
(:mod:`~datasoil.protocol.metric_sets`), EIP-712 attestations, their signatures, relay
payloads and aggregates (:mod:`~datasoil.protocol.attestations`), and the cleaning audits'
seed, sampling, openings and verdict (:mod:`~datasoil.protocol.audits`).

Pure like :mod:`datasoil.formats`: no chain, network or store access.
"""

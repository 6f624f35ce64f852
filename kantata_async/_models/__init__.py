"""The machinery under every model: the base class, fields, relations, the graph's state.

The model classes themselves are generated (`kantata_async._generated`) and re-exported by
`kantata_async.models`.
"""

"""Endpoint methods of `FivetranClient`: one mixin per API area, each naming its endpoint."""

"""The project's `dg` defs folder: one `FivetranEstateComponent` for the estate under config/."""

"""Review tools over a collection's vectors: exact and near-duplicate groups (`duplicates`, `groups`), a 2-D map
with clusters (`layout/`), collections made from collections (`merge`), and the background tasks that compute
them with visible progress (`tasks`). Their small state (pairs found, pairs dismissed, cached maps) lives in
`state` (SQLite under the data dir)."""

"""The ML service's routes, one module per kind.

- `system`: GET / and GET /health (open), GET /api/v1/capabilities, POST /api/v1/warmup, POST /api/v1/cooldown
- `embed`: POST /api/v1/batch_embed_and_caption (the original's base64 JSON), POST /api/v1/embed_images
  (multipart), POST /api/v1/embed_text

Every /api/v1 route needs the x-api-key header when keys are configured (added in `sightline.inference.app`).
"""

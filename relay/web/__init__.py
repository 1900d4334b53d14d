"""Everything that speaks HTTP: the Starlette app and its routes, request helpers, page
rendering, SSE streams and the OpenAPI document. Nothing outside this folder imports Starlette
(the CLI imports uvicorn only inside `relay serve`)."""

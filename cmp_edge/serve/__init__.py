"""The HTTP service and browser page (``cmp-edge serve``): composition above the runtime.

Needs the ``serve`` extra (``pip install -e ".[serve]"``: FastAPI, uvicorn,
python-multipart, Gradio, PyAV). Nothing is imported here: use
``cmp_edge.serve.app.create_app``.
"""

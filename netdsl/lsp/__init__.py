"""netdsl lsp: a Language Server Protocol server (analysis.py has no LSP library in it;
server.py speaks the protocol with pygls)."""

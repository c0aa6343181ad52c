"""Pure rules of the shop, shared by the server and the counter app: no I/O, no Qt, no project imports."""

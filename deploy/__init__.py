"""Running Concord: the local stack behind `make run` and `make test`, the prestart step of
the container deployment, and the `concord` command line."""

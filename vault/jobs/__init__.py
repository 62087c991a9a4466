"""Jobs: the task functions, the periodic schedule, and the two queues that run them.

A caller of the domains like `api` and `cli`: each task opens its own units of work on the
same service functions the API and the CLI call. On PostgreSQL `vault worker` runs them
through procrastinate; on the embedded default `vault serve` runs them through huey."""

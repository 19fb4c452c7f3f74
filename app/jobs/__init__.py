"""Background jobs run by RQ workers. Jobs are module-level functions that take ids, load rows,
call services and executors, and always leave what they ran in a final state."""

QUEUES = ("high", "normal", "low")

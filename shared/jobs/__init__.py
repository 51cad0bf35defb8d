"""Jobs: the durable record of every piece of work, from submission to result."""

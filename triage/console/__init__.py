"""The agents' console: the queue and the cases in a browser, with the actions agents
take, on the same store (`triage serve`)."""

"""The counter app's side of the wire (no Qt): the API client, the queue watcher, the download cache,
the durable outbox of status reports and the credentials in the OS keyring."""

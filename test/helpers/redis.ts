// Moved to support/ so bench/ needs nothing from test/; kept so existing imports still resolve.
export * from "../../support/redis-server.js";

// The connection to the server: one Socket.IO client, events by name from protocol.js.
import { io } from "/static/vendor/socket.io-client/socket.io.esm.min.js";
import { EVENTS } from "./protocol.js";

/**
 * Connect and route server events to handlers:
 * {queued, progress, done, error, connect, disconnect}.
 * Returns {complete(payload), cancel(jobId?)}.
 */
export function connect(handlers) {
  const socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", () => handlers.connect?.());
  socket.on("disconnect", (reason) => handlers.disconnect?.(reason));
  socket.on("connect_error", (err) => handlers.disconnect?.(err.message));
  socket.on(EVENTS.QUEUED, (msg) => handlers.queued?.(msg));
  socket.on(EVENTS.PROGRESS, (msg) => handlers.progress?.(msg));
  socket.on(EVENTS.DONE, (msg) => handlers.done?.(msg));
  socket.on(EVENTS.ERROR, (msg) => handlers.error?.(msg));
  return {
    complete: (payload) => socket.emit(EVENTS.COMPLETE, payload),
    cancel: (job) => socket.emit(EVENTS.CANCEL, job ? { job } : {}),
    get connected() { return socket.connected; },
  };
}

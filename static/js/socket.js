// The connection to the server: one Socket.IO client, events by name from protocol.js.
import { io } from "/static/vendor/socket.io-client/socket.io.esm.min.js";
import { EVENTS } from "./protocol.js";

const ACK_TIMEOUT_MS = 20000;

/**
 * Connect and route server events to handlers:
 * {queued, progress, done, error, connect, disconnect}.
 * Returns {request(event, payload) and complete(payload) -> Promise of the server's
 * acknowledgement, cancel(jobId?)}.
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
  /** Ask for a job (complete, dream, style): {job, position} when queued, {job, error: {code, message}} when refused. */
  const request = async (event, payload) => {
    try {
      return await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      socket.emit(EVENTS.CANCEL, {});     // should it still queue the job, it must not run for nobody
      return { job: null, error: { code: "no_answer", message: "the server did not answer in time" } };
    }
  };
  return {
    request,
    complete: (payload) => request(EVENTS.COMPLETE, payload),
    cancel: (job) => socket.emit(EVENTS.CANCEL, job ? { job } : {}),
    get connected() { return socket.connected; },
  };
}

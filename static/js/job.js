// The page's one job, as an explicit state machine:
//   idle -> sending -> queued -> running -> done | error | cancelled
// The server acknowledges `complete` with the job id; until then, events are
// held back, then only those of that id are let through. Once a job has ended,
// nothing of it reaches the view: async handlers check `isCurrent(ticket)` after
// every await, so a late one cannot bring a finished job back.
export const STATES = ["idle", "sending", "queued", "running", "done", "error", "cancelled"];
const ACTIVE = new Set(["sending", "queued", "running"]);

export class Job {
  constructor(onChange = () => {}) {
    this.state = "idle";
    this.kind = null;     // the kind of the latest job: the view that shows its events
    this.id = null;
    this.ticket = 0;      // one per Complete press: tells this job's handlers from an older one's
    this.held = [];       // [deliver, msg] that arrived before the acknowledgement
    this.onChange = onChange;
  }

  get active() { return ACTIVE.has(this.state); }

  /** A new job of `kind` (complete, dream, style) is being sent; returns its ticket.
   *  Throws if one is already active. */
  begin(kind = "complete") {
    if (this.active) throw new Error("a job is already active");
    this.kind = kind;
    this.ticket += 1;
    this.id = null;
    this.held = [];
    this.#set("sending");
    return this.ticket;
  }

  /**
   * The server's answer to `complete`: {job, position} or {job, error}. Returns
   * false if this ticket's job is no longer wanted (stopped or replaced while the
   * answer was on its way): the caller must then cancel ack.job on the server.
   * onQueued(ack) shows the position before the events held meanwhile are replayed.
   */
  acknowledged(ticket, ack, onQueued = () => {}) {
    if (ticket !== this.ticket || this.state !== "sending") return false;
    this.id = ack.job ?? null;
    const held = this.held;
    this.held = [];
    if (ack.error) { this.end("error", ack.error); return true; }
    this.#set("queued");
    onQueued(ack);
    for (const [deliver, msg] of held) if (msg.job === this.id) deliver(msg);
    return true;
  }

  /**
   * Route an event: deliver(msg) runs only if msg belongs to this active job (or
   * is held until the acknowledgement says whether it does). Returns the ticket or null.
   */
  route(msg, deliver) {
    if (!this.active || !msg || !msg.job) return null;
    if (this.state === "sending") { this.held.push([deliver, msg]); return null; }
    if (msg.job !== this.id) return null;
    deliver(msg);
    return this.ticket;
  }

  /** Still the same active job as when `ticket` was taken? */
  isCurrent(ticket) { return ticket === this.ticket && this.active; }

  running() { if (this.active) this.#set("running"); }

  /** End the job: "done", "error" or "cancelled"; later events of it are ignored. */
  end(state, detail = null) {
    if (!this.active) return false;
    this.detail = detail;
    this.#set(state);
    return true;
  }

  #set(state) {
    this.state = state;
    document.body.dataset.state = state;   // for CSS and the browser tests
    this.onChange(state, this);
  }
}

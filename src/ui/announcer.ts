/**
 * Decides what the widget's `role="status"` live region says. A change of situation (connected,
 * saved, a recipient joined) is announced at once; progress at most every few seconds, so a
 * screen reader is not talked over by a counter. Plain logic with an injectable clock.
 */
export class Announcer {
  /** What the live region should hold now. */
  text = '';
  private situation = '';
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly interval = 5000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Feeds the current situation and progress; returns the text to show. */
  update(situation: string, progress = ''): string {
    const line = progress ? `${situation} ${progress}` : situation;
    if (situation !== this.situation) {
      this.situation = situation;
      this.text = line;
      this.lastAt = this.now();
    } else if (progress && line !== this.text && this.now() - this.lastAt >= this.interval) {
      this.text = line;
      this.lastAt = this.now();
    }
    return this.text;
  }

  /** Announces a one-off confirmation ("Link copied") right away. */
  say(message: string): string {
    this.text = message;
    this.lastAt = this.now();
    return this.text;
  }
}

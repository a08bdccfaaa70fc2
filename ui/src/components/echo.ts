/**
 * A controlled editor's guard against its own echoes. The editor reports each change (onChange);
 * its owner keeps the text in React state and hands it back as `value`. React may render later
 * than the editor moves on: a render can bring back a text the editor already left (typing fast
 * on a busy machine), and replacing the editor's text with it would drop the keystrokes since.
 *
 * So each reported text is remembered until it comes back. A value that is one of them is an
 * echo (the queue up to it is dropped: echoes come back in order, some skipped by batching); any
 * other value is the owner's own (another version loaded, the text converted) and replaces the
 * editor's text.
 */
export class EchoGuard {
  private sent: string[] = [];

  constructor(private readonly limit = 100) {}

  /** The editor reported `text` to its owner. */
  reported(text: string): void {
    this.sent.push(text);
    if (this.sent.length > this.limit) this.sent.shift();
  }

  /** `value` came from the owner: true when it is the owner's own text, to show in the editor. */
  isOwnersText(value: string): boolean {
    const i = this.sent.indexOf(value);
    if (i === -1) {
      this.sent = [];
      return true;
    }
    this.sent.splice(0, i + 1);
    return false;
  }
}

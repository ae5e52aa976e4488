/**
 * Copies a text (the share link) to the clipboard and remembers how that went: `copied` for a
 * moment after it worked, `hint` when nothing worked and the text is left selected for the user
 * to copy. It holds no words: the host tells people what happened from what `copy()` resolves to.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export interface CopyOptions {
  /** The field showing the text: selected for the old way of copying, and for the user. */
  field(): HTMLInputElement | null;
  /** How long `copied` stays true after a copy, in milliseconds. */
  copiedFor?: number;
}

export class CopyController implements ReactiveController {
  /** Whether the text has just been copied. */
  copied = false;
  /** Whether no way of copying worked, so the user must copy the selected text themselves. */
  hint = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly options: CopyOptions,
  ) {
    host.addController(this);
  }

  /** A page that puts the element back shows the Copy button as new, with no timer running. */
  hostDisconnected(): void {
    this.reset();
  }

  /**
   * Copies `text`; resolves to whether it reached the clipboard. When it did not, the field is
   * left focused with the text selected.
   */
  async copy(text: string): Promise<boolean> {
    let copied: boolean;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      copied = this.copyBySelection();
    }
    clearTimeout(this.timer);
    this.copied = copied;
    this.hint = !copied;
    if (copied) {
      this.timer = setTimeout(() => {
        this.copied = false;
        this.host.requestUpdate();
      }, this.options.copiedFor ?? 2000);
    } else {
      this.select();
    }
    this.host.requestUpdate();
    return copied;
  }

  /** Forgets the last copy, for the next text. */
  reset(): void {
    clearTimeout(this.timer);
    this.copied = false;
    this.hint = false;
    this.host.requestUpdate();
  }

  /** The clipboard API is refused on some pages (permissions, focus); the old way still works. */
  private copyBySelection(): boolean {
    if (!this.select()) return false;
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }

  private select(): boolean {
    const field = this.options.field();
    field?.focus();
    field?.select();
    return field !== null;
  }
}

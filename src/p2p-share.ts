/**
 * The `<p2p-share>` element: a thin Lit shell around its controllers (sharing a file, receiving
 * the file a link names, drag-and-drop, copying the link). It decides which side the page is on
 * (from the URL fragment), turns controller callbacks into `p2p-share-*` events, holds the
 * password fields' state, and composes the views in `ui/`. Importing this module defines nothing
 * and touches no DOM; see `p2p-share.define.ts`.
 */
import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { saveToOf, seedOf, uploadLimitOf } from './attribute-values.js';
import { looksLikeLink, parseLink } from './crypto/link.js';
import { CopyController } from './controllers/copy-controller.js';
import { DropController } from './controllers/drop-controller.js';
import { ReceiveController, type ReceiveOptions } from './controllers/receive-controller.js';
import { ShareController } from './controllers/share-controller.js';
import { P2PError } from './errors.js';
import type { P2PShareEventDetails } from './events.js';
import { styles } from './p2p-share.styles.js';
import { Announcer } from './ui/announcer.js';
import { errorBlock } from './ui/error-block.js';
import { recipientView } from './ui/recipient-view.js';
import { sharerView } from './ui/sharer-view.js';
import { receiveAnnouncement, shareAnnouncement, words } from './ui/text.js';

/**
 * Send a file straight from this browser to others over WebRTC: drop a file, share the link,
 * and whoever opens the link on this page downloads it from you.
 *
 * @summary Browser-to-browser file sharing with a link.
 *
 * @fires {CustomEvent<{link: string}>} p2p-share-link - The share link is ready (`detail.link`).
 * @fires {CustomEvent<{bytes: number, total: number, peer: string}>} p2p-share-progress - Bytes moved to or from `detail.peer`, out of `detail.total`: reported about four times a second per transfer, and at its end.
 * @fires {CustomEvent<{name: string, originalName: string, size: number, sha256: string}>} p2p-share-complete - The recipient saved and verified the file; `detail.name` is the name it was saved under and the widget showed (bidirectional and control characters removed, cut to 240 UTF-8 bytes), `detail.originalName` the sharer's untrusted name as sent, `detail.sha256` the lowercase hex SHA-256 of the whole file.
 * @fires {CustomEvent<{code: string, message: string, reason?: string, retryAfterMs?: number, peer?: string}>} p2p-share-error - Something failed; `detail.code` says what (see ERROR_CODES), `detail.reason` which of the code's situations, `detail.message` says it for people, and the code's facts come as data (`retryAfterMs`, `sizeBytes`, `limitBytes`, `piece`, `host`, `status`: see ErrorDetail). On the sharing side `detail.peer` names the recipient whose transfer failed. Fired once per failure, and not when the user cancels.
 *
 * @csspart base - The widget's frame.
 * @csspart dropzone - The area that accepts a dropped file.
 * @csspart button - Every button.
 * @csspart choose-button - The "Choose a file" button.
 * @csspart file - The name, size and type of the file.
 * @csspart file-name - The file's name.
 * @csspart link - The read-only field holding the share link.
 * @csspart copy-button - The button that copies the link.
 * @csspart peers - The list of recipients.
 * @csspart peer - One recipient and its status.
 * @csspart progress - A progress bar.
 * @csspart stop-button - The "Stop sharing" button.
 * @csspart another-button - The "Share another file" button.
 * @csspart download-button - The recipient's "Download" button.
 * @csspart cancel-button - The recipient's "Cancel" button.
 * @csspart retry-button - The "Retry" / "Resume" button after a failure.
 * @csspart password - A password input (the sharer's optional one, the recipient's unlock field).
 * @csspart reveal-button - The "Show" / "Hide" button beside a password input.
 * @csspart protected - The sharer's note that the link needs the password.
 * @csspart unlock-form - The recipient's form for a password-protected share.
 * @csspart unlock-button - The recipient's "Unlock" button.
 * @csspart wait - How long to wait before the password may be tried again.
 * @csspart outage - The line saying the sharing service is briefly unavailable and the widget keeps trying.
 * @csspart queue - The recipient's place in the queue while every sender is busy.
 * @csspart done - The "Saved" line.
 * @csspart seeding - A finished recipient's sharing with later recipients: the switch and what it is doing.
 * @csspart seeding-toggle - The checkbox that turns a finished recipient's sharing on and off.
 * @csspart seeding-status - How many people a finished recipient serves and what it uploaded.
 * @csspart swarm - The sharer's summary of everyone with the link: sharing, downloading, waiting, finished.
 * @csspart uploaded - What the sharer uploaded itself and what reached recipients in all.
 * @csspart hash - The full SHA-256 of a saved file.
 * @csspart error - An error message.
 *
 * @cssprop [--p2p-share-font=inherit] - Font family.
 * @cssprop [--p2p-share-background=#ffffff (dark: #1d1f23)] - Background of the widget.
 * @cssprop [--p2p-share-color=#1f2328 (dark: #e6e8eb)] - Text colour.
 * @cssprop [--p2p-share-muted=#59636e (dark: #a4acb6)] - Secondary text colour.
 * @cssprop [--p2p-share-border=#d1d9e0 (dark: #3d444d)] - Border colour.
 * @cssprop [--p2p-share-accent=#0b5fcc (dark: #5ea2ff)] - Buttons, progress and the drop highlight.
 * @cssprop [--p2p-share-accent-contrast=#ffffff (dark: #0d1117)] - Text on accent-coloured buttons.
 * @cssprop [--p2p-share-danger=#b3261e (dark: #ff8a80)] - Error text and border.
 * @cssprop [--p2p-share-success=#1a7f37 (dark: #56d364)] - The "Saved" line.
 * @cssprop [--p2p-share-focus-ring=#0b5fcc (dark: #79b8ff)] - Keyboard focus outline.
 * @cssprop [--p2p-share-radius=8px] - Corner radius.
 * @cssprop [--p2p-share-padding=1rem] - Inner spacing.
 */
export class P2PShareElement extends LitElement {
  static override styles = styles;

  /**
   * Registers the element as `tag` unless that name is taken already (a second copy of the
   * script on the page is harmless). Returns the class registered under `tag`.
   */
  static define(tag = 'p2p-share', registry: CustomElementRegistry = customElements) {
    const existing = registry.get(tag);
    if (existing) return existing;
    // One constructor can hold only one name per registry; another name gets a subclass.
    const ctor = registry.getName?.(this) ? class extends this {} : this;
    registry.define(tag, ctor);
    return ctor;
  }

  private readonly sharer = new ShareController(this, {
    link: (link) => this.emit('p2p-share-link', { link }),
    progress: (detail) => this.emit('p2p-share-progress', detail),
    complete: (detail) => this.emit('p2p-share-complete', detail),
    error: (detail) => this.emit('p2p-share-error', detail),
  });

  private readonly receiver = new ReceiveController(this, {
    progress: (detail) => this.emit('p2p-share-progress', detail),
    complete: (detail) => this.emit('p2p-share-complete', detail),
    error: (detail) => this.emit('p2p-share-error', detail),
  });

  private readonly drop = new DropController(this, (files) => this.startShare(files));
  private readonly copier = new CopyController(this, { field: () => this.linkInput });

  private readonly announcer = new Announcer();
  private announcement = '';

  @query('input[type="file"]') private fileInput!: HTMLInputElement | null;
  @query('input.link') private linkInput!: HTMLInputElement | null;
  @query('#unlock-password') private unlockInput!: HTMLInputElement | null;

  /** Which side this page is on: a link in the URL fragment makes it the recipient. */
  @state() private mode: 'sharer' | 'recipient' = 'sharer';
  /** What the sharer typed in the password field, until a file is dropped or picked. */
  @state() private sharePassword = '';
  @state() private passwordShown = false;

  /**
   * Base URL of the signalling service. By default, the directory the widget's script was
   * loaded from, which is where the service serves it.
   */
  @property({ attribute: 'server' }) server = '';

  /**
   * Where a recipient's file is written while it arrives: `auto` (a save dialog where the
   * browser has one, private storage otherwise), `opfs` (the browser's private storage, then a
   * download) or `picker` (always ask). Read when the link is opened.
   */
  @property({ attribute: 'save-to' }) saveTo: 'auto' | 'opfs' | 'picker' = 'auto';

  /**
   * The most bytes per second this browser uploads, to all recipients together: as the sharer,
   * and as a recipient that keeps sharing the file it downloaded. `0` (the default) means no
   * limit. Read when a file is shared or a link is opened.
   */
  @property({ attribute: 'upload-limit', type: Number }) uploadLimit = 0;

  /**
   * Whether a recipient keeps sharing the file with later recipients once it has it, for as long
   * as the page stays open: `on` (the default) or `off` (`false` and `no` work too). This is only
   * the starting point: the recipient can change it with the switch under "Saved". Read when the
   * link is opened.
   */
  @property({ attribute: 'seeding' }) seeding: 'on' | 'off' = 'on';

  /**
   * Connect to other browsers only through the service's TURN relay
   * (`iceTransportPolicy: 'relay'`), so that neither learns the other's network address. The
   * service can make this the default for every widget (`RELAY_ONLY`). Read when a file is
   * shared or a link is opened.
   */
  @property({ attribute: 'relay-only', type: Boolean }) relayOnly = false;

  /** The link to the file being shared; empty when nothing is being shared. */
  get link(): string {
    return this.sharer.link;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.handleHashChange);
    this.syncMode();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.handleHashChange);
  }

  /**
   * Shares one file (several files are refused until they are supported) and resolves to the
   * link. Any share running before is stopped. With `options.password` (non-empty), recipients
   * must give that password before they learn anything about the file; it is never shown and
   * never sent to the service (only a proof derived from it and the link key is). Files dropped
   * or picked in the widget use the widget's own password field instead.
   */
  share(files: File | File[], options: { password?: string } = {}): Promise<string> {
    if (this.mode === 'recipient') {
      return this.receiver.failEarly(new P2PError('bad-request', { reason: 'recipient-page' }));
    }
    return this.sharer.share(
      files,
      location.href,
      {
        server: this.serviceUrl(),
        uploadLimit: uploadLimitOf(this.uploadLimit),
        relayOnly: this.relayOnly,
      },
      options.password ?? '',
    );
  }

  /**
   * Downloads the linked file; resolves once it is saved to disk and verified. A share with a
   * password is unlocked with `options.password` first; without one it rejects with
   * `bad-password` ("This share needs its password"), and a wrong one rejects with
   * `bad-password` or, after too many tries, `rate-limited`.
   */
  async download(options: { password?: string } = {}): Promise<void> {
    if (this.mode !== 'recipient') {
      return this.sharer.failEarly(new P2PError('bad-request', { reason: 'no-link' }));
    }
    await this.receiver.download(options.password);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    super.willUpdate(changed);
    const [situation, progress] =
      this.mode === 'recipient'
        ? receiveAnnouncement(this.receiver.state, this.receiver.wait)
        : shareAnnouncement(this.sharer.state);
    this.announcement = this.announcer.update(situation, progress);
  }

  private serviceUrl(): string {
    // This module is bundled into dist/p2p-share.js, which the service serves from its root.
    return this.server || new URL('./', import.meta.url).href;
  }

  private receiveOptions(): ReceiveOptions {
    return {
      server: this.serviceUrl(),
      saveTo: saveToOf(this.saveTo),
      uploadLimit: uploadLimitOf(this.uploadLimit),
      seed: seedOf(this.seeding),
      relayOnly: this.relayOnly,
    };
  }

  private syncMode(): void {
    const hash = location.hash;
    const secret = parseLink(hash);
    if (secret) {
      this.mode = 'recipient';
      this.sharePassword = '';
      this.receiver.open(secret, this.receiveOptions());
    } else if (looksLikeLink(hash)) {
      this.mode = 'recipient';
      this.receiver.invalid();
    } else {
      this.mode = 'sharer';
      this.receiver.close();
      if (!window.isSecureContext) this.sharer.refuseInsecure();
    }
  }

  private emit<K extends keyof P2PShareEventDetails>(name: K, detail: P2PShareEventDetails[K]) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  private announce(message: string): void {
    this.announcement = this.announcer.say(message);
    this.requestUpdate();
  }

  private startShare(files: File[]): void {
    // The password leaves the element's state once used: it lives on only inside the session.
    const password = this.sharePassword;
    this.sharePassword = '';
    this.passwordShown = false;
    // Failures are shown and fired by the controller; nobody else awaits this promise.
    this.share(files, { password }).catch(() => {});
  }

  private handleHashChange = (): void => {
    this.syncMode();
  };

  private handleChoose = (): void => {
    this.fileInput?.click();
  };

  private handlePicked = (event: Event): void => {
    const input = event.target as HTMLInputElement;
    const files = [...(input.files ?? [])];
    input.value = '';
    if (files.length) this.startShare(files);
  };

  private handleCopy = async (): Promise<void> => {
    const link = this.link;
    if (!link) return;
    const copied = await this.copier.copy(link);
    this.announce(copied ? words.share.said.copied : words.share.said.select);
  };

  private handleStop = (): void => {
    this.sharer.stop().catch(() => {});
  };

  private handleReset = (): void => {
    this.copier.reset();
    this.sharer.reset();
  };

  private handlePasswordInput = (event: Event): void => {
    this.sharePassword = (event.target as HTMLInputElement).value;
  };

  private handleTogglePassword = (): void => {
    this.passwordShown = !this.passwordShown;
  };

  private handleUnlock = (event: SubmitEvent): void => {
    event.preventDefault();
    const input = this.unlockInput;
    const password = input?.value ?? '';
    if (!password) {
      input?.focus();
      return;
    }
    this.receiver.unlock(password).then(
      () => {
        this.passwordShown = false;
      },
      async () => {
        // Failures are shown and fired by the controller; this puts the user back to retype.
        await this.updateComplete;
        this.unlockInput?.focus();
        this.unlockInput?.select();
      },
    );
  };

  private handleDownload = (): void => {
    this.receiver.download().catch(() => {});
  };

  private handleCancel = (): void => {
    this.receiver.cancel();
  };

  private handleRetry = (): void => {
    this.receiver.retry(this.receiveOptions()).catch(() => {});
  };

  private handleSeeding = (event: Event): void => {
    this.receiver.setSeeding((event.target as HTMLInputElement).checked);
  };

  override render() {
    const notice = this.mode === 'recipient' ? this.receiver.notice : this.sharer.notice;
    return html`<div class="base" part="base">
      <div class="visually-hidden" role="status" aria-live="polite">${this.announcement}</div>
      ${notice ? errorBlock(notice) : nothing}
      ${
        this.mode === 'recipient'
          ? recipientView(this.receiver.state, {
              download: this.handleDownload,
              cancel: this.handleCancel,
              retry: this.handleRetry,
              seeding: this.handleSeeding,
              unlock: this.handleUnlock,
              togglePassword: this.handleTogglePassword,
              passwordShown: this.passwordShown,
              unlocking: this.receiver.isUnlocking,
              wait: this.receiver.wait,
            })
          : sharerView(this.sharer.state, {
              dragging: this.drop.dragging,
              copied: this.copier.copied,
              copyHint: this.copier.hint,
              choose: this.handleChoose,
              picked: this.handlePicked,
              dragEnter: this.drop.handleDragEnter,
              dragOver: this.drop.handleDragOver,
              dragLeave: this.drop.handleDragLeave,
              drop: this.drop.handleDrop,
              copy: this.handleCopy,
              stop: this.handleStop,
              reset: this.handleReset,
              password: this.sharePassword,
              passwordInput: this.handlePasswordInput,
              passwordShown: this.passwordShown,
              togglePassword: this.handleTogglePassword,
              protected: this.sharer.passwordProtected,
            })
      }
    </div>`;
  }
}

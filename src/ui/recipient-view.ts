/**
 * The recipient's screens as Lit templates: looking up the link, the password form of a locked
 * share, the file with its Download button, connecting, waiting in the queue and downloading with
 * progress, saved (with the switch that keeps sharing it), and failed (with Retry when the session
 * says a retry can work). Pure functions of the state and the element's handlers.
 */
import { html, nothing, type TemplateResult } from 'lit';
import { live } from 'lit/directives/live.js';
import type { FileInfo, ReceiveState, SeedingView } from '../session/types.js';
import { errorBlock } from './error-block.js';
import { outageLine } from './outage-line.js';
import { passwordField } from './password-field.js';
import {
  aroundName,
  bytesLine,
  errorMessage,
  fileType,
  formatBytes,
  formatDuration,
  formatSpeed,
  isolatedName,
  queueLine,
  seedingLine,
  shortHash,
  shownName,
  routeText,
  sourcesLine,
  waitLine,
  words,
} from './text.js';

const w = words.receive;

export interface RecipientHandlers {
  download(): void;
  cancel(): void;
  retry(): void;
  /** The "keep sharing" switch changed (its `checked` is the new choice). */
  seeding(event: Event): void;
  /** The unlock form was submitted (Enter or the Unlock button). */
  unlock(event: SubmitEvent): void;
  togglePassword(): void;
  passwordShown: boolean;
  /** A password is being checked. */
  unlocking: boolean;
  /** Seconds until a rate-limited password may be tried again; null when no wait is known. */
  wait: number | null;
}

function fileDetails(file: FileInfo): TemplateResult {
  return html`<div class="file" part="file">
    <span class="file-name" part="file-name"><bdi>${shownName(file.name)}</bdi></span>
    <span class="file-meta">${formatBytes(file.size)} · ${fileType(file.type)}</span>
  </div>`;
}

/** "Saved …" with the name in a `<bdi>`. */
function savedLine(file: FileInfo): TemplateResult {
  const [before, after] = aroundName(w.saved);
  return html`${before}<bdi>${shownName(file.name)}</bdi>${after}`;
}

function progressBar(file: FileInfo, bytes: number): TemplateResult {
  return html`<progress
    part="progress"
    max=${Math.max(file.size, 1)}
    .value=${file.size === 0 ? 0 : bytes}
    aria-label=${w.progressLabel(isolatedName(file.name))}
  ></progress>`;
}

function cancelButton(h: RecipientHandlers): TemplateResult {
  return html`<div class="actions">
    <button type="button" part="button cancel-button" @click=${h.cancel}>${w.cancel}</button>
  </div>`;
}

/**
 * A real checkbox in its label: reachable with Tab, toggled with Space, named for screen readers.
 * `live()` because the session, not the click, decides: if it keeps the old value, the box
 * must show it again.
 */
function seedingBlock(seeding: SeedingView, h: RecipientHandlers): TemplateResult {
  return html`<div class="seeding" part="seeding">
    <label class="toggle">
      <input
        type="checkbox"
        part="seeding-toggle"
        .checked=${live(seeding.on)}
        @change=${h.seeding}
      />
      <span>${w.keepSharing}</span>
    </label>
    <p class="hint numbers" part="seeding-status">${seedingLine(seeding)}</p>
  </div>`;
}

function locked(state: Extract<ReceiveState, { phase: 'locked' }>, h: RecipientHandlers) {
  const waiting = h.wait !== null && h.wait > 0;
  const limitPassed = state.error?.code === 'rate-limited' && h.wait === 0;
  return html`<p class="line" id="locked-hint">${w.locked}</p>
    <form class="unlock" part="unlock-form" novalidate @submit=${h.unlock}>
      ${passwordField({
        id: 'unlock-password',
        label: w.password,
        shown: h.passwordShown,
        toggle: h.togglePassword,
        autocomplete: 'off',
        describedBy: 'locked-hint',
      })}
      <div class="actions">
        <button type="submit" class="primary" part="button unlock-button" ?disabled=${waiting}>
          ${w.unlock}
        </button>
      </div>
    </form>
    ${
      h.unlocking
        ? html`<p class="hint">${w.checking}</p>`
        : limitPassed
          ? html`<p class="hint">${w.tryAgain}</p>`
          : state.error
            ? errorBlock(state.error)
            : nothing
    }
    ${waiting ? html`<p class="hint numbers" part="wait">${waitLine(h.wait!)}</p>` : nothing}`;
}

export function recipientView(state: ReceiveState, h: RecipientHandlers): TemplateResult {
  // Above whatever the phase shows, which goes on; a failure has its own words instead.
  return html`${outageLine(state.phase !== 'error' && state.unavailable)} ${screen(state, h)}`;
}

function screen(state: ReceiveState, h: RecipientHandlers): TemplateResult {
  switch (state.phase) {
    case 'loading':
      return html`<p class="line">${w.loading}</p>`;
    case 'locked':
      return locked(state, h);
    case 'ready':
      return html`${fileDetails(state.file)}
        <div class="actions">
          <button type="button" class="primary" part="button download-button" @click=${h.download}>
            ${w.download}
          </button>
        </div>`;
    case 'connecting':
      return html`${fileDetails(state.file)}
        <p class="line">${w.connecting}</p>
        ${progressBar(state.file, state.bytes)} ${cancelButton(h)}`;
    case 'queued':
      return html`${fileDetails(state.file)}
        <p class="line queue numbers" part="queue">${queueLine(state.position)}</p>
        ${progressBar(state.file, state.bytes)}
        <p class="hint numbers">
          ${w.queueHint(state.bytes > 0 ? bytesLine(state.bytes, state.file.size) : '')}
        </p>
        ${cancelButton(h)}`;
    case 'downloading': {
      const facts = [
        bytesLine(state.bytes, state.file.size),
        formatSpeed(state.speed),
        state.eta === null ? '' : w.left(formatDuration(state.eta)),
        sourcesLine(state.sources),
        routeText(state.relayed),
      ].filter(Boolean);
      return html`${fileDetails(state.file)} ${progressBar(state.file, state.bytes)}
        <p class="line numbers">${facts.join(' · ')}</p>
        ${cancelButton(h)}`;
    }
    case 'saving':
      return html`${fileDetails(state.file)} ${progressBar(state.file, state.file.size)}
        <p class="line">${w.saving}</p>`;
    case 'done':
      return html`${fileDetails(state.file)}
        <p class="line done" part="done">${savedLine(state.file)}</p>
        <details class="hash">
          <summary>${w.hash} <code>${shortHash(state.sha256)}</code></summary>
          <code part="hash">${state.sha256}</code>
        </details>
        ${seedingBlock(state.seeding, h)}`;
    case 'error': {
      const cancelled = state.error.code === 'cancelled';
      return html`${state.file ? fileDetails(state.file) : nothing}
      ${
        cancelled ? html`<p class="line">${errorMessage(state.error)}</p>` : errorBlock(state.error)
      }
      ${
        state.retryable
          ? html`<div class="actions">
              <button type="button" class="primary" part="button retry-button" @click=${h.retry}>
                ${cancelled ? w.resume : w.retry}
              </button>
            </div>`
          : nothing
      }`;
    }
  }
}

/**
 * The sharer's screens as Lit templates: the drop zone with its optional password, preparing, the
 * link with its recipients and the swarm, stopped and failed. Pure functions of the state and the element's
 * handlers; no logic of their own beyond formatting. The password is never shown once used.
 */
import { html, nothing, type TemplateResult } from 'lit';
import { classMap } from 'lit/directives/class-map.js';
import type { FileInfo, PeerView, ShareState, SwarmView } from '../session/types.js';
import { errorBlock } from './error-block.js';
import { outageLine } from './outage-line.js';
import { passwordField } from './password-field.js';
import {
  formatBytes,
  formatSpeed,
  isolatedName,
  peerStatus,
  percentText,
  recipientName,
  shownName,
  swarmCounts,
  swarmHasRecipients,
  uploadedLine,
  words,
} from './text.js';

const w = words.share;

export interface SharerHandlers {
  dragging: boolean;
  copied: boolean;
  copyHint: boolean;
  choose(): void;
  picked(event: Event): void;
  dragEnter(event: DragEvent): void;
  dragOver(event: DragEvent): void;
  dragLeave(event: DragEvent): void;
  drop(event: DragEvent): void;
  copy(): void;
  stop(): void;
  reset(): void;
  /** The password typed for the next share ('' for none). */
  password: string;
  passwordInput(event: Event): void;
  passwordShown: boolean;
  togglePassword(): void;
  /** Whether the current share was made with a password. */
  protected: boolean;
}

export function fileCard(file: FileInfo): TemplateResult {
  return html`<div class="file" part="file">
    <span class="file-name" part="file-name"><bdi>${shownName(file.name)}</bdi></span>
    <span class="file-meta">${formatBytes(file.size)}</span>
  </div>`;
}

function dropZone(h: SharerHandlers): TemplateResult {
  return html`<div
      class=${classMap({ dropzone: true, dragging: h.dragging })}
      part="dropzone"
      @dragenter=${h.dragEnter}
      @dragover=${h.dragOver}
      @dragleave=${h.dragLeave}
      @drop=${h.drop}
    >
      <span class="drop-hint">${w.drop}</span>
      <span class="or">${w.or}</span>
      <button type="button" class="primary" part="button choose-button" @click=${h.choose}>
        ${w.choose}
      </button>
      <input type="file" hidden tabindex="-1" @change=${h.picked} />
    </div>
    <div class="field">
      ${passwordField({
        id: 'share-password',
        label: w.password,
        shown: h.passwordShown,
        toggle: h.togglePassword,
        autocomplete: 'new-password',
        value: h.password,
        input: h.passwordInput,
        describedBy: 'share-password-hint',
      })}
      <p class="hint" id="share-password-hint">${w.passwordHint}</p>
    </div>`;
}

function peerItem(peer: PeerView, index: number): TemplateResult {
  const name = recipientName(index);
  return html`<li class="peer" part="peer" data-status=${peer.status}>
    <span class="peer-name">${name}</span>
    <span class="peer-status">${peerStatus(peer)}</span>
    ${
      peer.status === 'transferring'
        ? html`<progress
              part="progress"
              max=${Math.max(peer.total, 1)}
              .value=${peer.bytes}
              aria-label=${w.progressLabel(name)}
            ></progress>
            <span class="peer-speed">${formatSpeed(peer.speed)}</span>`
        : nothing
    }
  </li>`;
}

/** Everyone with the link as the service counts them, and what this browser contributed. */
function swarmBlock(state: Extract<ShareState, { phase: 'sharing' }>): TemplateResult {
  const counts = (swarm: SwarmView) =>
    html`<dl class="swarm" part="swarm" aria-label=${w.everyone}>
      ${swarmCounts(swarm).map(
        ([label, count]) =>
          html`<div class="swarm-count">
            <dt>${label}</dt>
            <dd class="numbers">${count}</dd>
          </div>`,
      )}
    </dl>`;
  return html`${state.swarm ? counts(state.swarm) : nothing}
  ${
    state.swarm || state.uploaded > 0
      ? html`<p class="hint numbers" part="uploaded">
          ${uploadedLine(state.uploaded, state.swarm, state.file.size)}
        </p>`
      : nothing
  }`;
}

function sharing(state: Extract<ShareState, { phase: 'sharing' }>, h: SharerHandlers) {
  return html`${outageLine(state.unavailable)} ${fileCard(state.file)}
    <label class="link-label" for="link">${w.link}</label>
    <div class="link-row">
      <input id="link" class="link" part="link" type="text" readonly .value=${state.link} />
      <button type="button" part="button copy-button" @click=${h.copy}>
        ${h.copied ? w.copied : w.copy}
      </button>
    </div>
    <p class="hint">${h.copyHint ? w.copyHint : w.linkHint(h.protected)}</p>
    ${h.protected ? html`<p class="protected" part="protected">${w.protectedNote}</p>` : nothing}
    ${swarmBlock(state)}
    ${
      state.peers.length
        ? html`<ul class="peers" part="peers" aria-label=${w.recipients}>
            ${state.peers.map(peerItem)}
          </ul>`
        : swarmHasRecipients(state.swarm)
          ? nothing
          : html`<p class="waiting">${w.waiting}</p>`
    }
    ${stopButton(h)}`;
}

function stopButton(h: SharerHandlers): TemplateResult {
  return html`<div class="actions">
    <button type="button" part="button stop-button" @click=${h.stop}>${w.stop}</button>
  </div>`;
}

function anotherButton(h: SharerHandlers): TemplateResult {
  return html`<div class="actions">
    <button type="button" class="primary" part="button another-button" @click=${h.reset}>
      ${w.another}
    </button>
  </div>`;
}

export function sharerView(state: ShareState, h: SharerHandlers): TemplateResult {
  switch (state.phase) {
    case 'idle':
      return dropZone(h);
    case 'preparing':
      return html`${fileCard(state.file)}
        <p class="line">${w.preparing(percentText(state.hashed, state.file.size))}</p>
        <progress
          part="progress"
          max=${Math.max(state.file.size, 1)}
          .value=${state.hashed}
          aria-label=${w.preparingLabel(isolatedName(state.file.name))}
        ></progress>
        ${stopButton(h)}`;
    case 'sharing':
      return sharing(state, h);
    case 'stopped':
      return html`${fileCard(state.file)}
        <p class="line">${w.stopped}</p>
        ${anotherButton(h)}`;
    case 'error':
      return html`${state.file ? fileCard(state.file) : nothing} ${errorBlock(state.error)}
      ${anotherButton(h)}`;
  }
}

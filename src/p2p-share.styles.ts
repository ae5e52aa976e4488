/**
 * The element's styles. Every colour and size a host page may want to change is a
 * `--p2p-share-*` custom property read through a private `--_*` twin, so light and dark defaults
 * can differ while the page's value wins in both. Only Lit static styles (CSP-safe).
 */
import { css } from 'lit';

export const styles = css`
  :host {
    --_font: var(--p2p-share-font, inherit);
    --_bg: var(--p2p-share-background, #ffffff);
    --_fg: var(--p2p-share-color, #1f2328);
    --_muted: var(--p2p-share-muted, #59636e);
    --_border: var(--p2p-share-border, #d1d9e0);
    --_accent: var(--p2p-share-accent, #0b5fcc);
    --_accent-contrast: var(--p2p-share-accent-contrast, #ffffff);
    --_danger: var(--p2p-share-danger, #b3261e);
    --_success: var(--p2p-share-success, #1a7f37);
    --_focus: var(--p2p-share-focus-ring, #0b5fcc);
    --_radius: var(--p2p-share-radius, 8px);
    --_pad: var(--p2p-share-padding, 1rem);

    display: block;
    max-width: 36rem;
    font-family: var(--_font);
    line-height: 1.4;
    color: var(--_fg);
  }

  @media (prefers-color-scheme: dark) {
    :host {
      --_bg: var(--p2p-share-background, #1d1f23);
      --_fg: var(--p2p-share-color, #e6e8eb);
      --_muted: var(--p2p-share-muted, #a4acb6);
      --_border: var(--p2p-share-border, #3d444d);
      --_accent: var(--p2p-share-accent, #5ea2ff);
      --_accent-contrast: var(--p2p-share-accent-contrast, #0d1117);
      --_danger: var(--p2p-share-danger, #ff8a80);
      --_success: var(--p2p-share-success, #56d364);
      --_focus: var(--p2p-share-focus-ring, #79b8ff);
    }
  }

  :host([hidden]) {
    display: none;
  }

  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }

  .base {
    display: flex;
    flex-direction: column;
    gap: 0.75rem;
    padding: var(--_pad);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_bg);
    color: var(--_fg);
  }

  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }

  .dropzone {
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 0.5rem;
    padding: calc(var(--_pad) * 2) var(--_pad);
    border: 2px dashed var(--_border);
    border-radius: var(--_radius);
    text-align: center;
    transition:
      border-color 120ms ease,
      background-color 120ms ease;
  }

  .dropzone.dragging {
    border-color: var(--_accent);
    background: color-mix(in srgb, var(--_accent) 10%, transparent);
  }

  .drop-hint {
    font-weight: 600;
  }

  .or,
  .hint,
  .waiting,
  .file-meta,
  .peer-speed {
    color: var(--_muted);
  }

  .file {
    display: flex;
    flex-direction: column;
    gap: 0.125rem;
    min-width: 0;
  }

  .file-name {
    font-weight: 600;
    overflow-wrap: anywhere;
  }

  p {
    margin: 0;
  }

  button {
    min-height: 2.5rem;
    padding: 0.5rem 1rem;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: transparent;
    color: var(--_fg);
    font: inherit;
    cursor: pointer;
    transition: background-color 120ms ease;
  }

  button:hover {
    background: color-mix(in srgb, var(--_fg) 8%, transparent);
  }

  button.primary {
    border-color: var(--_accent);
    background: var(--_accent);
    color: var(--_accent-contrast);
    font-weight: 600;
  }

  button.primary:hover {
    background: color-mix(in srgb, var(--_accent) 85%, var(--_fg));
  }

  button:focus-visible,
  input:focus-visible,
  summary:focus-visible {
    outline: 3px solid var(--_focus);
    outline-offset: 2px;
  }

  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
  }

  .link-label,
  .field-label {
    font-weight: 600;
  }

  .field,
  .unlock {
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
  }

  .link-row,
  .password-row {
    display: flex;
    gap: 0.5rem;
  }

  .protected {
    font-weight: 600;
  }

  .password {
    flex: 1;
    min-width: 0;
    padding: 0.5rem;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: transparent;
    color: var(--_fg);
    font: inherit;
  }

  button:disabled {
    cursor: not-allowed;
    opacity: 0.6;
  }

  .link {
    flex: 1;
    min-width: 0;
    padding: 0.5rem;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: transparent;
    color: var(--_fg);
    font: inherit;
    font-family: ui-monospace, monospace;
    font-size: 0.875em;
  }

  progress {
    width: 100%;
    height: 0.5rem;
    accent-color: var(--_accent);
  }

  .numbers {
    font-variant-numeric: tabular-nums;
  }

  .peers {
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
    margin: 0;
    padding: 0;
    list-style: none;
  }

  .peer {
    display: grid;
    grid-template-columns: auto 1fr;
    gap: 0.25rem 0.75rem;
    align-items: center;
  }

  .peer progress {
    grid-column: 1 / -1;
  }

  .peer-name {
    font-weight: 600;
  }

  .peer[data-status='failed'] .peer-status {
    color: var(--_danger);
  }

  .peer[data-status='done'] .peer-status,
  .done {
    color: var(--_success);
    font-weight: 600;
  }

  .error {
    display: flex;
    flex-direction: column;
    gap: 0.25rem;
    padding: 0.75rem;
    border: 1px solid var(--_danger);
    border-left-width: 4px;
    border-radius: var(--_radius);
    color: var(--_fg);
  }

  .error-heading {
    color: var(--_danger);
  }

  .seeding {
    display: flex;
    flex-direction: column;
    gap: 0.25rem;
    padding-top: 0.75rem;
    border-top: 1px solid var(--_border);
  }

  .toggle {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    min-height: 2.5rem;
    cursor: pointer;
  }

  .toggle input {
    flex: none;
    width: 1.25rem;
    height: 1.25rem;
    margin: 0;
    accent-color: var(--_accent);
    cursor: pointer;
  }

  .swarm {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(6rem, 1fr));
    gap: 0.5rem;
    margin: 0;
  }

  .swarm-count {
    display: flex;
    flex-direction: column;
    padding: 0.5rem 0.75rem;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
  }

  .swarm dt {
    color: var(--_muted);
    font-size: 0.875em;
  }

  .swarm dd {
    margin: 0;
    font-size: 1.25em;
    font-weight: 600;
  }

  .hash summary {
    cursor: pointer;
    color: var(--_muted);
  }

  .hash code {
    overflow-wrap: anywhere;
  }

  @media (prefers-reduced-motion: reduce) {
    *,
    *::before,
    *::after {
      transition: none !important;
      animation: none !important;
    }
  }
`;

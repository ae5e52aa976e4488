/**
 * The line either side shows while the service is briefly unavailable (it lost its shared state):
 * a status, not an alert, since nothing failed that the user must act on; it goes once the
 * service is back.
 */
import { html, nothing } from 'lit';
import { words } from './text.js';

export const outageLine = (on?: boolean) =>
  on ? html`<p class="line" role="status" part="outage">${words.outage}</p>` : nothing;

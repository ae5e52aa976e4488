/**
 * How a failure looks in the widget, on either side: a heading for its code and the session's own
 * message, in a `role="alert"` region so assistive technology says it at once.
 */
import { html, type TemplateResult } from 'lit';
import type { ErrorBody } from '../../protocol/errors.js';
import { errorHeading } from './text.js';

export function errorBlock(error: ErrorBody): TemplateResult {
  return html`<div class="error" role="alert" part="error" data-code=${error.code}>
    <strong class="error-heading">${errorHeading(error.code)}</strong>
    <span class="error-message">${error.message}</span>
  </div>`;
}

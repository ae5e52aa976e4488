/**
 * How a failure looks in the widget, on either side: a heading for its code and a sentence for its
 * reason and facts, both from the locale's table, in a `role="alert"` region so assistive
 * technology says it at once.
 */
import { html, type TemplateResult } from 'lit';
import type { ErrorData } from '../errors.js';
import { errorHeading, errorMessage } from './text.js';

export function errorBlock(error: ErrorData): TemplateResult {
  return html`<div class="error" role="alert" part="error" data-code=${error.code}>
    <strong class="error-heading">${errorHeading(error)}</strong>
    <span class="error-message">${errorMessage(error)}</span>
  </div>`;
}

/**
 * A labelled password input with a Show/Hide button, for the sharer's optional password and the
 * recipient's unlock form. Whether it shows the text is the element's state; the value stays in
 * the input (or the caller's binding) and is never rendered anywhere else.
 */
import { html, nothing, type TemplateResult } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';
import { words } from './text.js';

export interface PasswordFieldOptions {
  id: string;
  label: string;
  /** Whether the characters are shown instead of dots. */
  shown: boolean;
  toggle(): void;
  /** `new-password` for a password being chosen, `off` for one being typed to unlock. */
  autocomplete: 'new-password' | 'off';
  /** A value to bind (the sharer's field); leave out to let the input keep its own. */
  value?: string;
  input?(event: Event): void;
  /** The id of a hint that describes the field. */
  describedBy?: string;
}

export function passwordField(o: PasswordFieldOptions): TemplateResult {
  // The toggle's name says what it will do and contains its visible word (WCAG 2.5.3).
  const w = words.password;
  return html`<label class="field-label" for=${o.id}>${o.label}</label>
    <div class="password-row">
      <input
        id=${o.id}
        class="password"
        part="password"
        type=${o.shown ? 'text' : 'password'}
        name="password"
        autocomplete=${o.autocomplete}
        autocapitalize="off"
        spellcheck="false"
        aria-describedby=${ifDefined(o.describedBy)}
        .value=${o.value ?? ''}
        @input=${o.input ?? nothing}
      />
      <button
        type="button"
        part="button reveal-button"
        aria-controls=${o.id}
        aria-label=${o.shown ? w.hideLabel : w.showLabel}
        @click=${o.toggle}
      >
        ${o.shown ? w.hide : w.show}
      </button>
    </div>`;
}

// A one-line form in a list: a text field and a + button; the field clears once it is done.
import { useState } from "preact/hooks";
import { PlusIcon } from "./icons.js";

export interface InlineFormProps {
  placeholder: string;
  label: string;
  testid: string;
  maxLength: number;
  validate?: (value: string) => string | undefined;
  onFocus?: () => void;
  /** Resolves true when done, so the field is cleared. */
  onSubmit: (value: string) => Promise<boolean>;
}

export function InlineForm({
  placeholder,
  label,
  testid,
  maxLength,
  validate,
  onFocus,
  onSubmit,
}: InlineFormProps) {
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async () => {
    const v = value.trim().replace(/^#/, "");
    if (v === "" || busy) return;
    const problem = validate?.(v);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(undefined);
    const ok = await onSubmit(v);
    setBusy(false);
    if (ok) setValue("");
  };
  return (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div class="inline-row">
        <input
          type="text"
          placeholder={placeholder}
          aria-label={placeholder}
          autocapitalize="none"
          spellcheck={false}
          maxLength={maxLength}
          value={value}
          onFocus={onFocus}
          onInput={(e) => {
            setValue(e.currentTarget.value);
            setError(undefined);
          }}
          data-testid={`${testid}-input`}
        />
        <button
          type="submit"
          class="button primary small"
          disabled={busy || value.trim() === ""}
          aria-label={label}
          title={label}
          data-testid={`${testid}-submit`}
        >
          <PlusIcon />
        </button>
      </div>
      {error && <p class="form-error small">{error}</p>}
    </form>
  );
}

// A panel that slides over the right of the page (the whole width on a phone): the members of
// a channel, a person's profile. Escape or × closes it.
import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";

interface Props {
  title: string;
  testid: string;
  onClose: () => void;
  children: ComponentChildren;
}

export function Drawer({ title, testid, onClose, children }: Props) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div class="drawer" role="dialog" aria-label={title} data-testid={testid}>
      <header class="drawer-head">
        <h2>{title}</h2>
        <button
          type="button"
          class="icon-button"
          aria-label="Close"
          onClick={onClose}
          data-testid={`${testid}-close`}
        >
          ×
        </button>
      </header>
      <div class="drawer-body">{children}</div>
    </div>
  );
}

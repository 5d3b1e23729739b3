// A round initial in a colour that stays the same for a person, with an optional online dot.
import { hueClass, initial } from "./format.js";

interface Props {
  id: string;
  name: string;
  online?: boolean | undefined;
  small?: boolean;
  channel?: boolean;
}

export function Avatar({ id, name, online, small, channel }: Props) {
  return (
    <span class={`avatar ${hueClass(id)}${small ? " small" : ""}`} aria-hidden="true">
      {channel ? "#" : initial(name)}
      {online !== undefined && (
        <span class={`dot ${online ? "on" : "off"}`} data-testid="presence-dot" />
      )}
    </span>
  );
}

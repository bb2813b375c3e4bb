import { useState } from 'react';

const UNITS = [
  { label: 'seconds', seconds: 1 },
  { label: 'minutes', seconds: 60 },
  { label: 'hours', seconds: 3600 },
  { label: 'days', seconds: 86400 },
] as const;

/** The largest unit that expresses `seconds` exactly, so 300 shows as "5 minutes". */
function bestUnit(seconds: number): number {
  for (let i = UNITS.length - 1; i >= 0; i--) {
    const unit = UNITS[i];
    if (unit && seconds > 0 && seconds % unit.seconds === 0) return unit.seconds;
  }
  return 1;
}

/**
 * A duration as a number and a unit (seconds up to days). With `optional`, an empty number means
 * null, and `placeholder` says what null stands for ("no limit" unless told).
 */
export function DurationInput({
  id,
  label,
  value,
  onChange,
  optional = false,
  placeholder = 'no limit',
  min = 1,
  invalid = false,
}: {
  id: string;
  /** Names the unit select for assistive technology: "<label> unit". */
  label: string;
  value: number | null;
  onChange: (seconds: number | null) => void;
  optional?: boolean;
  placeholder?: string;
  min?: number;
  invalid?: boolean;
}) {
  const [unit, setUnit] = useState(() => (value ? bestUnit(value) : 60));
  const [text, setText] = useState(() => (value === null ? '' : String(value / bestUnit(value))));

  const emit = (nextText: string, nextUnit: number) => {
    if (nextText.trim() === '') {
      onChange(optional ? null : 0);
      return;
    }
    const n = Number(nextText);
    if (Number.isFinite(n)) onChange(Math.round(n * nextUnit));
  };

  return (
    <span className="duration-input">
      <input
        id={id}
        type="number"
        inputMode="decimal"
        min={min}
        step="any"
        required={!optional}
        placeholder={optional ? placeholder : undefined}
        value={text}
        aria-invalid={invalid || undefined}
        onChange={(e) => {
          setText(e.target.value);
          emit(e.target.value, unit);
        }}
      />
      <select
        aria-label={`${label} unit`}
        value={unit}
        onChange={(e) => {
          const next = Number(e.target.value);
          setUnit(next);
          emit(text, next);
        }}
      >
        {UNITS.map((u) => (
          <option key={u.seconds} value={u.seconds}>
            {u.label}
          </option>
        ))}
      </select>
    </span>
  );
}

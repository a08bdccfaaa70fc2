/** The console's UI primitives: every page builds on these. */
export { Button, type ButtonProps } from './Button.js';
export { Field, Input, Select } from './Field.js';
export { Tabs, type Tab } from './Tabs.js';
export { Table, type Column } from './Table.js';
export { Dialog, Confirm } from './Dialog.js';
export { Badge, StatusBadge } from './Badge.js';
export { Loading, Empty, ErrorState } from './States.js';
export { CopyButton } from './CopyButton.js';

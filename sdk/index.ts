// The agent-side SDK: ask for a human decision, then run the action under it.
export { requireApproval, type Approval, type RequireApprovalOptions } from './require-approval.js';
export { withApproval } from './with-approval.js';
export { ApprovalDeniedError, type DenialReason } from './errors.js';
export { actionHash, canonicalJson } from './canonical.js';

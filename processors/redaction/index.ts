// The redaction API other modules use: createRedactor(config) →
// { redactText, findings, redactBatch }.
export { createRedactor, rulesFor, type Redactor, type Finding } from './redactor.js';
export { redactionConfigSchema, type RedactionConfig, type RedactionConfigInput } from './config.js';
export { redactionProcessorFactory } from './factory.js';
export { RuleCompileError } from './engine.js';

// The Slack Web API client, pointed at the configured base URL.
import { LogLevel, WebClient } from '@slack/web-api';
import type { SlackConfig } from './config.js';
import { createSlackFetch } from './http-fetch.js';

export function createSlackClient(config: Pick<SlackConfig, 'bot_token' | 'api_url' | 'retries'>): WebClient {
  return new WebClient(config.bot_token, {
    slackApiUrl: config.api_url,
    logLevel: LogLevel.ERROR,
    // Bounded: a decision must not wait minutes behind a Slack outage.
    retryConfig: { retries: config.retries, factor: 2, minTimeout: 100, maxTimeout: 2000 },
    timeout: 10_000,
    fetch: createSlackFetch(),
  });
}

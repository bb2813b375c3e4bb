import { z } from 'zod';

/** What is stored in `channels.config`, per kind; parsed again at delivery time. */
export const webhookConfig = z.object({ url: z.string(), secret: z.string() });
export const emailConfig = z.object({ to: z.array(z.string()).min(1) });
export const slackConfig = z.object({ url: z.string() });
export type WebhookConfig = z.infer<typeof webhookConfig>;
export type EmailConfig = z.infer<typeof emailConfig>;
export type SlackConfig = z.infer<typeof slackConfig>;

import { Option, type Command } from 'commander';
import { z } from 'zod';
import { userRole, type UserRole } from '../contracts/accounts.js';
import type { Config } from '../config.js';
import { UsageError, action, operatorName, withOperatorStore } from './operator.js';

/**
 * `vigil org create|list|rename|remove` and `vigil user invite`: platform administration straight
 * on the database (DATABASE_URL or VIGIL_DATA_DIR, as `vigil migrate`), for the first customer
 * before anyone can log in, and for scripts. Migrations are applied first, as at every start.
 * The embedded store (PGlite) is one process's: stop `vigil start` on the same directory first.
 *
 * Unix conventions: results on stdout (a table, or one JSON document with --json), messages on
 * stderr; exit 0 on success, 1 when the store refuses (not found, already exists…), 2 for a usage
 * error (a bad role or e-mail, a password given on the command line).
 * Every change is recorded in the admin action log as done by `cli:<login name>`.
 */

const actor = () => ({ cli: operatorName() });
const invitationSettings = (config: Config) => ({
  baseUrl: config.VIGIL_BASE_URL ?? `http://localhost:${config.PORT}`,
  smtp: { url: config.VIGIL_SMTP_URL, from: config.VIGIL_SMTP_FROM },
});

const print = (json: boolean | undefined, value: unknown, text: string) => process.stdout.write(json ? `${JSON.stringify(value)}\n` : text);

async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (password.length < 8) throw new UsageError('the password read from stdin must have at least 8 characters');
  return password;
}

export function registerOrgs(program: Command): void {
  const org = program.command('org').description('Manage customer organisations (on the database directly)');

  org
    .command('create')
    .description('Create an organisation; prints its id')
    .argument('<name>', 'its name')
    .option('--json', 'print the organisation as JSON')
    .action(
      action('org create', async (name: string, opts: { json?: boolean }) => {
        const trimmed = name.trim();
        if (!trimmed || trimmed.length > 200) throw new UsageError('the name must have 1 to 200 characters');
        const { createOrgAs } = await import('../domains/accounts/index.js');
        const created = await withOperatorStore((db) => createOrgAs(db, actor(), trimmed));
        print(opts.json, created, `${created.id}\t${created.name}\n`);
      }),
    );

  org
    .command('list')
    .description('List organisations: id, members, name')
    .option('--json', 'print them as JSON')
    .action(
      action('org list', async (opts: { json?: boolean }) => {
        const { listOrgs } = await import('../domains/accounts/index.js');
        const orgs = await withOperatorStore((db) => listOrgs(db, actor()));
        print(opts.json, { orgs }, orgs.map((o) => `${o.id}\t${o.members}\t${o.name}\n`).join(''));
      }),
    );

  org
    .command('rename')
    .description('Rename an organisation')
    .argument('<org>', 'its name or id')
    .argument('<name>', 'the new name')
    .option('--json', 'print the organisation as JSON')
    .action(
      action('org rename', async (which: string, name: string, opts: { json?: boolean }) => {
        const { renameOrgAs, resolveOrg } = await import('../domains/accounts/index.js');
        const renamed = await withOperatorStore(async (db) => renameOrgAs(db, actor(), (await resolveOrg(db, which)).id, name.trim()));
        print(opts.json, renamed, `${renamed.id}\t${renamed.name}\n`);
      }),
    );

  org
    .command('remove')
    .description('Remove an organisation and everything in it')
    .argument('<org>', 'its name or id')
    .action(
      action('org remove', async (which: string) => {
        const { removeOrgAs, resolveOrg } = await import('../domains/accounts/index.js');
        await withOperatorStore(async (db) => removeOrgAs(db, actor(), (await resolveOrg(db, which)).id));
      }),
    );

  const user = program.command('user').description("Manage organisations' users (on the database directly)");
  user
    .command('invite')
    .description('Invite a user to an organisation: prints the invitation link (also e-mailed when VIGIL_SMTP_URL is set), or, with --password -, creates the user with the password read from stdin')
    .argument('<email>', 'their e-mail address')
    .requiredOption('--org <org>', 'the organisation: its name or id')
    .addOption(new Option('--role <role>', 'admin, analyst or read-only').default('analyst'))
    .option('--password <dash>', "'-': read an initial password from stdin instead of inviting (never on the command line)")
    .option('--json', 'print the result as JSON')
    .action(
      action('user invite', async (email: string, opts: { org: string; role: string; password?: string; json?: boolean }) => {
        const role = userRole.safeParse(opts.role);
        if (!role.success) throw new UsageError(`--role must be admin, analyst or read-only, not ${opts.role}`);
        if (!z.string().email().max(320).safeParse(email).success) throw new UsageError(`not an e-mail address: ${email}`);
        if (opts.password !== undefined && opts.password !== '-') throw new UsageError('--password takes only -: the password is read from stdin, so that it shows in no process list or history');
        const password = opts.password === '-' ? await readPassword() : undefined;
        const accounts = await import('../domains/accounts/index.js');
        const chosen: UserRole = role.data;
        await withOperatorStore(async (db, config) => {
          const { baseUrl, smtp } = invitationSettings(config);
          const target = await accounts.resolveOrg(db, opts.org);
          if (password !== undefined) {
            const member = await accounts.addMember(db, actor(), target.id, { email, role: chosen, password });
            print(opts.json, { ...member, org: target }, `${member.user_id}\t${member.email}\t${member.role}\t${target.name}\n`);
            return;
          }
          const mailer = smtp.url ? accounts.smtpMailer(smtp.url, smtp.from) : undefined;
          const invitation = await accounts.invite(db, actor(), target.id, { email, role: chosen }, { baseUrl, mailer });
          if (!invitation.emailed && invitation.email_error) process.stderr.write(`vigil user invite: not e-mailed: ${invitation.email_error}\n`);
          print(opts.json, { ...invitation, org: target }, invitation.url ? `${invitation.url}\n` : `Invitation e-mailed to ${invitation.email}\n`);
        });
      }),
    );
}

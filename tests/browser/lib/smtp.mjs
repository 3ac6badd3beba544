// A local SMTP server that keeps every mail gatehouse sends, so a test can wait for the next
// mail to an address and pull a link or a code out of it.
import { EventEmitter } from 'node:events';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

export class MailCapture {
  constructor() {
    this.mails = [];
    this.consumed = new Set();
    this.events = new EventEmitter();
    this.server = null;
    this.port = 0;
  }

  /** `smtp://…` for gatehouse's SMTP_URL. */
  get url() {
    return `smtp://127.0.0.1:${this.port}?tls=none`;
  }

  async start() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      banner: 'gatehouse browser tests',
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((parsed) => {
            const to = (session.envelope.rcptTo ?? []).map((r) => r.address.toLowerCase());
            const mail = {
              to,
              from: session.envelope.mailFrom?.address ?? null,
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              receivedAt: new Date(),
            };
            this.mails.push(mail);
            this.events.emit('mail', mail);
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.port = this.server.server.address().port;
        resolve();
      });
    });
    return this;
  }

  async stop() {
    if (this.server) await new Promise((r) => this.server.close(r));
    this.server = null;
  }

  /** Every mail to `address` so far (consumed or not). */
  to(address) {
    const a = address.toLowerCase();
    return this.mails.filter((m) => m.to.includes(a));
  }

  /**
   * The first mail to `address` not yet taken by an earlier call, for which `match` (a RegExp
   * tested on the subject, or a function of the mail) holds; waits for it up to `timeoutMs`.
   */
  next(address, { match, timeoutMs = 15_000 } = {}) {
    const a = address.toLowerCase();
    const ok = (m) =>
      m.to.includes(a) &&
      !this.consumed.has(m) &&
      (!match || (match instanceof RegExp ? match.test(m.subject) : match(m)));
    return new Promise((resolve, reject) => {
      const found = this.mails.find(ok);
      if (found) {
        this.consumed.add(found);
        resolve(found);
        return;
      }
      const onMail = (m) => {
        if (!ok(m)) return;
        clearTimeout(timer);
        this.events.off('mail', onMail);
        this.consumed.add(m);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.events.off('mail', onMail);
        const seen = this.mails.map((m) => `${m.to.join(',')}: ${m.subject}`).join('\n  ');
        reject(new Error(`no mail to ${address}${match ? ` matching ${match}` : ''} within ${timeoutMs} ms; mails so far:\n  ${seen || '(none)'}`));
      }, timeoutMs);
      this.events.on('mail', onMail);
    });
  }
}

export async function startMailCapture() {
  return new MailCapture().start();
}

/** The first link in the mail's text whose path starts with `path` (e.g. '/verify-email'). */
export function linkFrom(mail, path) {
  const urls = [...`${mail.text}\n${mail.html}`.matchAll(/https?:\/\/[^\s"'<>)\]]+/g)].map((m) =>
    m[0].replace(/&amp;/g, '&').replace(/[.,;]+$/, ''),
  );
  const link = urls.find((u) => new URL(u).pathname.startsWith(path));
  if (!link) throw new Error(`no link to ${path} in mail "${mail.subject}":\n${mail.text}`);
  return link;
}

/** The first 6-digit code in the mail's text. */
export function codeFrom(mail) {
  const m = mail.text.match(/\b(\d{6})\b/);
  if (!m) throw new Error(`no 6-digit code in mail "${mail.subject}":\n${mail.text}`);
  return m[1];
}

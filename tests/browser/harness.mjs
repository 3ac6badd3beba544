// The shared harness of the browser tests: real gatehouse, real SMTP capture, real Chromium.
//
//   startMailCapture()            SMTP server keeping every mail; .next(address, {match}) waits
//   linkFrom(mail, path), codeFrom(mail)
//   startGatehouse(env, {port, mail})   the binary on a fresh SQLite file → { url, mail, cli(), stop() }
//   launchBrowser(), addVirtualAuthenticator(context, page), screenshot(page, name)
//   startExample({…}), startExampleStack({gatehouseEnv, host})   the built Next.js example
//   waitFor(what, check, {timeoutMs})   poll a condition with a bound (never sleep for time)
//   newPerson(), registerVerified(), apiLogin(), enrolTotp(), totpCodes(), call(), expectCall(), claimsOf()
export { startMailCapture, MailCapture, linkFrom, codeFrom } from './lib/smtp.mjs';
export { startGatehouse, GATEHOUSE_BIN, TEST_DEFAULTS } from './lib/gatehouse.mjs';
export { launchBrowser, addVirtualAuthenticator, screenshot, CHROMIUM_PATH, REPO_ROOT, SCREENSHOT_DIR } from './lib/browser.mjs';
export { startExample, startExampleStack, exampleGatehouseEnv, builtGatehouseUrl, EXAMPLE_DIR } from './lib/example.mjs';
export { freePort, waitFor, startProcess } from './lib/procs.mjs';
export { newPerson, registerVerified, apiLogin, enrolTotp, totpCodes, call, expectCall, claimsOf } from './lib/api.mjs';

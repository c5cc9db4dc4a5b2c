/** Each route's credentials, read from the live secrets at request time (they rotate). */
import type { Config } from '../config/config.js';
import { verificationKeys, type RuntimeSecrets } from '../config/secrets.js';
import type { InternalCredentials } from '../providers/internal.js';
import type { PhaxioCredentials } from '../providers/phaxio.js';
import type { SinchCredentials } from '../providers/sinch.js';

export function routeCredentials(config: Config, secrets: RuntimeSecrets) {
  return {
    internal: (): InternalCredentials => ({
      secrets: secrets.get('ASTERISK_INBOUND_SECRET'),
      signingKeys: verificationKeys(secrets),
      requireSignature: secrets.signingConfigured,
    }),
    phaxio: (): PhaxioCredentials => ({
      apiSecrets: secrets.get('PHAXIO_API_SECRET'),
      callbackTokens: secrets.get('PHAXIO_CALLBACK_TOKEN'),
      publicUrl: config.publicUrl,
    }),
    sinch: (): SinchCredentials => ({
      basicUser: secrets.current('SINCH_INBOUND_BASIC_USER'),
      basicPasswords: secrets.get('SINCH_INBOUND_BASIC_PASS'),
      hmacSecrets: secrets.get('SINCH_INBOUND_HMAC_SECRET'),
      allowUnauthenticated: config.sinchAllowUnauthenticated,
    }),
    apiKeys: () => secrets.get('FAXBRIDGE_API_KEY'),
  };
}

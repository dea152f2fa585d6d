/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** dashboard-api's RESEND_COOLDOWN in seconds, if it is not the default 60. */
  readonly VITE_RESEND_COOLDOWN_SECONDS?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}

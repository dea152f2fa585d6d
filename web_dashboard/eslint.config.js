// ESLint 9 flat config: typescript-eslint (type-aware), React hooks, react-refresh, and a
// small local rule that keeps visible text out of JSX unless it goes through t().
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import reactRefresh from 'eslint-plugin-react-refresh';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Attributes whose values are read by people (or screen readers) and so must be translated. */
const TEXT_ATTRIBUTES = new Set(['title', 'placeholder', 'alt', 'aria-label', 'aria-description']);
const HAS_LETTER = /\p{L}/u;

/** `gadai/no-jsx-text`: no hard-coded human text in JSX children or text attributes. */
const noJsxText = {
  meta: {
    type: 'problem',
    docs: { description: 'visible strings in JSX must come from t()' },
    messages: { literal: 'Visible text "{{text}}" must go through the translation layer (t()).' },
    schema: [],
  },
  create(context) {
    const report = (node, text) =>
      context.report({ node, messageId: 'literal', data: { text: text.trim().slice(0, 40) } });
    return {
      JSXText(node) {
        if (HAS_LETTER.test(node.value)) report(node, node.value);
      },
      'JSXExpressionContainer > Literal'(node) {
        if (node.parent.parent.type === 'JSXAttribute') return;
        if (typeof node.value === 'string' && HAS_LETTER.test(node.value)) report(node, node.value);
      },
      'JSXExpressionContainer > TemplateLiteral'(node) {
        if (node.parent.parent.type === 'JSXAttribute') return;
        if (node.quasis.some((q) => HAS_LETTER.test(q.value.cooked ?? ''))) report(node, 'template');
      },
      JSXAttribute(node) {
        const name = typeof node.name.name === 'string' ? node.name.name : '';
        if (!TEXT_ATTRIBUTES.has(name) || !node.value) return;
        if (node.value.type === 'Literal' && HAS_LETTER.test(String(node.value.value))) {
          report(node.value, String(node.value.value));
        }
      },
    };
  },
};

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'coverage', 'src/api/openapi.gen.ts'] },
  {
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked],
    files: ['**/*.{ts,tsx}'],
    languageOptions: {
      ecmaVersion: 2023,
      globals: globals.browser,
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: {
      'react-hooks': reactHooks,
      'react-refresh': reactRefresh,
      gadai: { rules: { 'no-jsx-text': noJsxText } },
    },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'react-refresh/only-export-components': ['warn', { allowConstantExport: true }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      'gadai/no-jsx-text': 'error',
    },
  },
  {
    files: ['**/*.test.{ts,tsx}', 'src/test/**', 'e2e/**'],
    rules: {
      'gadai/no-jsx-text': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
      'react-refresh/only-export-components': 'off',
    },
  },
  {
    files: ['eslint.config.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
);

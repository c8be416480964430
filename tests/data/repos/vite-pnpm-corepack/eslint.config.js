export default [{ ignores: ['dist'] }]

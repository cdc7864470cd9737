'use strict';
module.exports = require('./leftovers.cjs').teardown;

'use strict';
module.exports = require('./tmp.cjs').setup;

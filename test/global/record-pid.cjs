'use strict';
require('./leftovers.cjs').recordPid();
